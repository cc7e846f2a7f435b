import { defineConfig } from 'vitest/config';

// Two projects: unit tests need nothing running; integration, fault and e2e tests share one
// real Kafka broker that test/global-setup.ts starts (or KAFKA_BROKERS names).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // One broker on two cores: files run one at a time so timings stay meaningful.
          fileParallelism: false,
        },
      },
    ],
  },
});
