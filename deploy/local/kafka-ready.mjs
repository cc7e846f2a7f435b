// Waits until a broker answers metadata requests and its group and transaction coordinators
// have loaded, so the first consumer group or transactional producer does not race them.
// usage: node kafka-ready.mjs host:port [timeoutMs]
// On the secure broker (kafka.sh up --secure) it connects as the admin principal, from the
// same FRAUD_KAFKA_* settings every client of the project reads (kafka-security.ts; this
// file is plain JavaScript so it runs before anything is built).
import { readFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';

const [brokers, timeoutArg] = process.argv.slice(2);
const deadline = Date.now() + Number(timeoutArg ?? 60_000);
const env = process.env;
const secure = env.FRAUD_KAFKA_SECURITY_PROTOCOL === 'SASL_SSL'
  ? {
      ssl: { ca: [readFileSync(env.FRAUD_KAFKA_SSL_CA_LOCATION, 'utf8')] },
      sasl: { mechanism: 'scram-sha-512', username: env.FRAUD_KAFKA_SASL_USERNAME, password: readFileSync(env.FRAUD_KAFKA_SASL_PASSWORD_FILE, 'utf8').trim() },
    }
  : {};
const kafka = new Kafka({ clientId: 'fraudscore-ready', brokers: brokers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 100 }, ...secure });

async function probe() {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.fetchTopicMetadata({ topics: [] });
    // Warms the transaction coordinator (InitProducerId) the way a scorer would use it.
    const producer = kafka.producer({ transactionalId: 'fraudscore-ready', maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    await producer.disconnect();
    await admin.describeGroups(['fraudscore-ready']);
  } finally {
    await admin.disconnect();
  }
}

for (;;) {
  try {
    await probe();
    process.exit(0);
  } catch (err) {
    if (Date.now() > deadline) {
      console.error(`kafka: not ready after timeout: ${err.message}`);
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
