/**
 * Every span and metric attribute name in one place, following the OTel messaging semantic
 * conventions. Card tokens, amounts and message keys are never attributes: a trace backend is
 * not a place for card data (test/unit/scorer/telemetry checks it).
 */
export const ATTR = {
  messagingSystem: 'messaging.system',
  messagingOperationType: 'messaging.operation.type',
  messagingOperationName: 'messaging.operation.name',
  messagingDestination: 'messaging.destination.name',
  messagingPartition: 'messaging.destination.partition.id',
  messagingConsumerGroup: 'messaging.consumer.group.name',
  messagingOffset: 'messaging.kafka.offset',
  messagingBatchCount: 'messaging.batch.message_count',
  decision: 'fraudscore.decision',
  score: 'fraudscore.score',
  errorCode: 'fraudscore.error.code',
  modelName: 'fraudscore.model.name',
  modelVersion: 'fraudscore.model.version',
  modelDigest: 'fraudscore.model.digest',
  stage: 'fraudscore.stage',
} as const;

export const STAGES = ['decode', 'features', 'inference', 'decide', 'produce'] as const;
export type Stage = (typeof STAGES)[number];
