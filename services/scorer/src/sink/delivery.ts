/**
 * How a chunk's outputs and its consumed offset reach Kafka.
 *
 * at-least-once: produce (acks=all, idempotent) and wait for the acknowledgement, then commit
 * the next offset to read. A crash between the two re-scores the chunk after restart: outputs
 * may repeat, never go missing.
 */
import type { Consumer, Producer } from 'kafkajs';
import type { TopicMessages } from './messages.js';

/** The next position to read after a chunk: last offset + 1 (Kafka's commit convention). */
export interface NextOffset {
  topic: string;
  partition: number;
  offset: string;
}

export interface Delivery {
  readonly mode: 'at-least-once' | 'exactly-once';
  deliver(partition: number, outputs: TopicMessages[], next: NextOffset): Promise<void>;
  close(): Promise<void>;
}

export function atLeastOnceDelivery(producer: Producer, consumer: Consumer): Delivery {
  return {
    mode: 'at-least-once',
    async deliver(_partition, outputs, next) {
      if (outputs.length) await producer.sendBatch({ topicMessages: outputs, acks: -1 });
      await consumer.commitOffsets([next]);
    },
    close: () => producer.disconnect(),
  };
}
