/**
 * `npm test` runs the Kafka suites once per scorer client (FRAUD_KAFKA_CLIENT). A test whose
 * subject never touches the scorer's client (the monitor, the models CLI, both on kafkajs, or no
 * Kafka at all) gains nothing from its second run: it runs on the default client only.
 */
import { DEFAULT_KAFKA_CLIENT } from '../../services/scorer/src/config.js';

export const ON_DEFAULT_CLIENT = (process.env.FRAUD_KAFKA_CLIENT || DEFAULT_KAFKA_CLIENT) === DEFAULT_KAFKA_CLIENT;
