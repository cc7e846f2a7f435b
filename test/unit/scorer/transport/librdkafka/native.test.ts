/**
 * Client error events reach JS as text only (the addon drops their code and fatal flag):
 * the transport must still tell a fatal or fenced client from a retried broker hiccup.
 */
import { describe, expect, it } from 'vitest';
import { classifyClientError, codes, errorName } from '../../../../../services/scorer/src/transport/librdkafka/native.js';

const ERR = codes();

describe('librdkafka client errors', () => {
  it.each([
    ['fatal error', 'ERR__FATAL', true],
    ['this instance has been fenced by a newer instance', 'ERR__FENCED', true],
    ['broker transport failure', 'ERR__TRANSPORT', false],
    ['all broker connections are down', 'ERR__ALL_BROKERS_DOWN', false],
    ['something librdkafka never says', 'ERR_UNKNOWN', false],
  ])('an event error reading %j is %s (fatal: %s)', (message, name, fatal) => {
    expect(classifyClientError({ message, code: -1, errno: -1, origin: 'local' })).toEqual({ name, fatal });
  });

  it('uses the code when there is one, and a fatal flag when the addon kept it', () => {
    expect(classifyClientError({ message: 'x', code: ERR.ERR__TRANSPORT, errno: 0, origin: 'local' })).toEqual({ name: 'ERR__TRANSPORT', fatal: false });
    expect(classifyClientError({ message: 'x', code: ERR.ERR__TRANSPORT, errno: 0, origin: 'local', isFatal: true }).fatal).toBe(true);
    expect(errorName(ERR.ERR_NOT_COORDINATOR_FOR_GROUP)).toBe('ERR_NOT_COORDINATOR_FOR_GROUP');
  });
});
