import { describe, expect, it } from 'vitest';
import { hostname } from 'node:os';
import { ConfigError, DEFAULT_KAFKA_CLIENT, loadConfig } from '../../../services/scorer/src/config.js';

const BASE = { FRAUD_KAFKA_BROKERS: 'localhost:9092' };

function configErrorOf(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, loadConfig accepted the environment');
}

describe('loadConfig defaults', () => {
  it('fills every setting but the brokers', () => {
    expect(loadConfig(BASE)).toEqual({
      brokers: ['localhost:9092'],
      security: { protocol: 'PLAINTEXT' },
      clientId: 'fraudscore-scorer',
      kafkaClient: DEFAULT_KAFKA_CLIENT,
      instanceId: `${hostname().replace(/[^\w.-]/g, '_').slice(0, 80)}-9464`,
      groupId: 'fraudscore-scorer',
      topics: {
        transactions: 'transactions',
        outcomes: 'transaction-outcomes',
        decisions: 'fraud-decisions',
        flags: 'fraud-flags',
        dlq: 'transactions-dlq',
        cardState: 'fraudscore-card-state-changelog',
        shadowDecisions: 'fraud-shadow-decisions',
        deployments: 'fraudscore-deployments',
        deploymentStatus: 'fraudscore-deployment-status',
        replies: 'fraud-replies',
      },
      wireFormat: 'confluent',
      modelsDir: 'models',
      model: '',
      delivery: 'exactly-once',
      maxBatch: 500,
      decisionFeatures: false,
      commitIntervalMs: 100,
      concurrentPartitions: 4,
      maxFutureSkewMs: 300_000,
      maxAmountMinor: 100_000_000,
      admin: { host: '0.0.0.0', port: 9464 },
      logLevel: 'info',
      otel: { endpoint: '', sampleRatio: 0.01 },
      fromBeginning: true,
      sessionTimeoutMs: 30_000,
      transactionTimeoutMs: DEFAULT_KAFKA_CLIENT === 'librdkafka' ? 10_000 : 60_000,
      faults: { crashPoint: 'none', crashAfter: 1, modelDelayMs: 0 },
    });
  });

  it('picks the Kafka client, and a transaction timeout that suits its fencing', () => {
    const rdk = loadConfig({ ...BASE, FRAUD_KAFKA_CLIENT: 'librdkafka' });
    expect(rdk.kafkaClient).toBe('librdkafka');
    expect(rdk.transactionTimeoutMs).toBe(10_000);
    const kjs = loadConfig({ ...BASE, FRAUD_KAFKA_CLIENT: 'kafkajs' });
    expect(kjs.transactionTimeoutMs).toBe(60_000);
    expect(loadConfig({ ...BASE, FRAUD_KAFKA_CLIENT: 'librdkafka', FRAUD_TRANSACTION_TIMEOUT_MS: '20000' }).transactionTimeoutMs).toBe(20_000);
  });

  it('names the instance after the host and admin port, or at random when the port is 0', () => {
    expect(loadConfig({ ...BASE, FRAUD_INSTANCE_ID: 'scorer-0' }).instanceId).toBe('scorer-0');
    expect(loadConfig({ ...BASE, FRAUD_ADMIN_PORT: '9500' }).instanceId).toMatch(/-9500$/);
    const a = loadConfig({ ...BASE, FRAUD_ADMIN_PORT: '0' }).instanceId;
    expect(a).not.toBe(loadConfig({ ...BASE, FRAUD_ADMIN_PORT: '0' }).instanceId);
  });

  it('treats an empty string as unset', () => {
    const c = loadConfig({ ...BASE, FRAUD_MAX_BATCH: '', FRAUD_TOPIC_DLQ: '', FRAUD_FROM_BEGINNING: '' });
    expect(c.maxBatch).toBe(500);
    expect(c.topics.dlq).toBe('transactions-dlq');
    expect(c.fromBeginning).toBe(true);
  });

  it('ignores unrelated variables', () => {
    expect(loadConfig({ ...BASE, PATH: '/usr/bin', FRAUD_UNKNOWN: 'x' }).brokers).toEqual(['localhost:9092']);
  });
});

describe('loadConfig values', () => {
  it('parses every kind of value', () => {
    const c = loadConfig({
      FRAUD_KAFKA_BROKERS: 'b1:9092,b2.example.com:19092',
      FRAUD_TOPIC_TRANSACTIONS: 'tx-in',
      FRAUD_WIRE_FORMAT: 'plain',
      FRAUD_MODEL: 'xgb/2024-05-01',
      FRAUD_DELIVERY: 'exactly-once',
      FRAUD_MAX_BATCH: '64',
      FRAUD_MAX_FUTURE_SKEW_MS: '0',
      FRAUD_ADMIN_PORT: '0',
      FRAUD_LOG_LEVEL: 'silent',
      FRAUD_OTEL_ENDPOINT: 'http://collector:4318',
      FRAUD_TRACE_SAMPLE_RATIO: '1',
      FRAUD_FROM_BEGINNING: 'false',
    });
    expect(c.brokers).toEqual(['b1:9092', 'b2.example.com:19092']);
    expect(c.topics.transactions).toBe('tx-in');
    expect(c).toMatchObject({ wireFormat: 'plain', model: 'xgb/2024-05-01', delivery: 'exactly-once', maxBatch: 64, maxFutureSkewMs: 0, logLevel: 'silent', fromBeginning: false });
    expect(c.admin.port).toBe(0);
    expect(c.otel).toEqual({ endpoint: 'http://collector:4318', sampleRatio: 1 });
  });

  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ])('FRAUD_FROM_BEGINNING=%s is %s', (raw, expected) => {
    expect(loadConfig({ ...BASE, FRAUD_FROM_BEGINNING: raw }).fromBeginning).toBe(expected);
  });

  it('commits every 100 ms exactly-once and every second at-least-once unless told', () => {
    expect(loadConfig({ ...BASE }).commitIntervalMs).toBe(100);
    expect(loadConfig({ ...BASE, FRAUD_DELIVERY: 'at-least-once' }).commitIntervalMs).toBe(1000);
    expect(loadConfig({ ...BASE, FRAUD_DELIVERY: 'at-least-once', FRAUD_COMMIT_INTERVAL_MS: '0' }).commitIntervalMs).toBe(0);
    expect(configErrorOf({ ...BASE, FRAUD_COMMIT_INTERVAL_MS: '-5' }).message).toMatch(/FRAUD_COMMIT_INTERVAL_MS/);
    expect(configErrorOf({ ...BASE, FRAUD_CONCURRENT_PARTITIONS: '0' }).message).toMatch(/FRAUD_CONCURRENT_PARTITIONS/);
  });

  it('accepts the integer bounds', () => {
    expect(loadConfig({ ...BASE, FRAUD_MAX_BATCH: '1' }).maxBatch).toBe(1);
    expect(loadConfig({ ...BASE, FRAUD_MAX_BATCH: '10000' }).maxBatch).toBe(10_000);
    expect(loadConfig({ ...BASE, FRAUD_ADMIN_PORT: '65535' }).admin.port).toBe(65_535);
  });
});

describe('KAFKA_BROKERS fallback', () => {
  it('is used when FRAUD_KAFKA_BROKERS is unset or empty', () => {
    expect(loadConfig({ KAFKA_BROKERS: 'kafka:29092' }).brokers).toEqual(['kafka:29092']);
    expect(loadConfig({ FRAUD_KAFKA_BROKERS: '', KAFKA_BROKERS: 'a:1,b:2' }).brokers).toEqual(['a:1', 'b:2']);
  });

  it('loses to FRAUD_KAFKA_BROKERS', () => {
    expect(loadConfig({ FRAUD_KAFKA_BROKERS: 'mine:9092', KAFKA_BROKERS: 'theirs:9092' }).brokers).toEqual(['mine:9092']);
  });

  it('a bad fallback value is reported under FRAUD_KAFKA_BROKERS', () => {
    expect(configErrorOf({ KAFKA_BROKERS: 'no-port' }).message).toMatch(/FRAUD_KAFKA_BROKERS/);
  });
});

describe('bad values name the variable', () => {
  it('brokers missing entirely', () => {
    const err = configErrorOf({});
    expect(err.name).toBe('ConfigError');
    expect(err.message).toMatch(/FRAUD_KAFKA_BROKERS: expected host:port/);
  });

  it.each([
    ['FRAUD_KAFKA_BROKERS', 'localhost'],
    ['FRAUD_KAFKA_BROKERS', 'a:1, b:2'],
    ['FRAUD_KAFKA_BROKERS', 'a:1,'],
    ['FRAUD_MAX_BATCH', 'abc'],
    ['FRAUD_MAX_BATCH', '0'],
    ['FRAUD_MAX_BATCH', '10001'],
    ['FRAUD_MAX_BATCH', '2.5'],
    ['FRAUD_DELIVERY', 'sometimes'],
    ['FRAUD_WIRE_FORMAT', 'json'],
    ['FRAUD_MODEL', 'just-a-name'],
    ['FRAUD_ADMIN_PORT', '65536'],
    ['FRAUD_ADMIN_PORT', '-1'],
    ['FRAUD_MAX_FUTURE_SKEW_MS', String(7 * 86_400_000 + 1)],
    ['FRAUD_MAX_AMOUNT_MINOR', '0'],
    ['FRAUD_LOG_LEVEL', 'verbose'],
    ['FRAUD_OTEL_ENDPOINT', 'not a url'],
    ['FRAUD_TRACE_SAMPLE_RATIO', '1.5'],
    ['FRAUD_TRACE_SAMPLE_RATIO', 'half'],
    ['FRAUD_FROM_BEGINNING', 'yes'],
    ['FRAUD_KAFKA_CLIENT', 'rdkafka'],
    ['FRAUD_DECISION_FEATURES', 'no'],
    ['FRAUD_INSTANCE_ID', 'has space'],
  ])('%s=%s', (name, value) => {
    const env = { ...BASE, [name]: value };
    const err = configErrorOf(env);
    expect(err.message).toContain(`${name}:`);
    // only the bad variable is named
    const named = err.message.split('\n').filter((l) => l.trim().startsWith('FRAUD_'));
    expect(named).toHaveLength(1);
  });

  it('names every bad variable at once', () => {
    const err = configErrorOf({ FRAUD_MAX_BATCH: 'abc', FRAUD_DELIVERY: 'sometimes' });
    expect(err.message).toMatch(/FRAUD_KAFKA_BROKERS/);
    expect(err.message).toMatch(/FRAUD_MAX_BATCH/);
    expect(err.message).toMatch(/FRAUD_DELIVERY/);
  });
});

describe('the result is frozen', () => {
  it('at every level', () => {
    const c = loadConfig({ ...BASE, FRAUD_KAFKA_BROKERS: 'a:1,b:2' });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.topics)).toBe(true);
    expect(Object.isFrozen(c.admin)).toBe(true);
    expect(Object.isFrozen(c.otel)).toBe(true);
    expect(Object.isFrozen(c.brokers)).toBe(true);
    expect(() => {
      (c as { maxBatch: number }).maxBatch = 1;
    }).toThrow(TypeError);
    expect(() => {
      (c.brokers as string[]).push('c:3');
    }).toThrow(TypeError);
    expect(c.maxBatch).toBe(500);
  });

  it('does not read process.env: the same input always gives the same config', () => {
    const before = process.env.FRAUD_MAX_BATCH;
    process.env.FRAUD_MAX_BATCH = '7';
    try {
      expect(loadConfig(BASE).maxBatch).toBe(500);
    } finally {
      if (before === undefined) delete process.env.FRAUD_MAX_BATCH;
      else process.env.FRAUD_MAX_BATCH = before;
    }
  });
});
