import { describe, expect, it } from 'vitest';
import { bytesContainPanLike, containsPanLike, redactPanLike } from '../../../../services/scorer/src/decode/pan.js';

/** Independent Luhn check, so the chosen cases are known to be what they claim. */
function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

const VISA = '4111111111111111';
const AMEX = '378282246310005';
const MASTERCARD = '5555555555554444';

describe('containsPanLike: Luhn-valid card numbers are detected', () => {
  it.each([VISA, AMEX, MASTERCARD, '4012888888881881', '6011111111111117'])('%s alone', (pan) => {
    expect(luhn(pan)).toBe(true);
    expect(containsPanLike(pan)).toBe(true);
  });

  it.each([
    ['spaces', '4111 1111 1111 1111'],
    ['dashes', '4111-1111-1111-1111'],
    ['Amex grouping', '3782 822463 10005'],
    ['mixed separators', '4111-1111 1111-1111'],
  ])('grouped with %s', (_label, text) => {
    expect(containsPanLike(text)).toBe(true);
  });

  it('embedded in longer text', () => {
    expect(containsPanLike(`card number: ${VISA}, exp 12/29`)).toBe(true);
    expect(containsPanLike(`tok_${AMEX}_x`)).toBe(true);
    expect(containsPanLike(`{"pan":"${VISA}"}`)).toBe(true);
  });

  it('inside a longer digit run (up to 19 digits)', () => {
    expect(containsPanLike(`${VISA}000`)).toBe(true);
    expect(containsPanLike(`00${AMEX}9`)).toBe(true);
  });

  it('inside a digit run longer than 19 digits', () => {
    // These prefixes were chosen so that no 13–19 digit window in the first 19 digits passes
    // Luhn: the PAN is only found if the whole run is examined.
    for (const prefix of ['0000', '9838', '267404', '1805834', '7745868494']) {
      expect(containsPanLike(prefix + VISA), prefix + VISA).toBe(true);
      expect(containsPanLike(`ref ${prefix}${VISA} end`)).toBe(true);
    }
    expect(containsPanLike(`${'0'.repeat(40)}${VISA}`)).toBe(true);
  });
});

describe('containsPanLike: things that are not card numbers', () => {
  it('16-digit numbers with no Luhn-valid 13–19 digit window', () => {
    for (const n of ['1234567812345678', '1111111111111111']) {
      expect(luhn(n)).toBe(false);
      expect(containsPanLike(n)).toBe(false);
    }
  });

  it('a non-Luhn number is flagged when a window starting with an issuer digit (2-6) passes Luhn', () => {
    expect(luhn('4111111111111112')).toBe(false);
    expect(luhn('1111111111112')).toBe(true);
    // the only Luhn-valid window starts with 1: not an issuer digit
    expect(containsPanLike('4111111111111112')).toBe(false);
    expect(containsPanLike('99' + '4111111111111111')).toBe(true);
  });

  it('short numbers: 12 digits or fewer, even when Luhn-valid', () => {
    expect(luhn('000000000000')).toBe(true);
    expect(containsPanLike('000000000000')).toBe(false);
    expect(containsPanLike('411111111111')).toBe(false);
    expect(containsPanLike('amount 123456 at 12:30 on 2024-05-17')).toBe(false);
  });

  it('13-digit epoch-ms timestamps are never flagged, even Luhn-valid ones (they start with 1)', () => {
    expect(luhn('1795871515924')).toBe(true);
    expect(containsPanLike('1795871515924')).toBe(false);
    expect(luhn('1795871515925')).toBe(false);
    expect(containsPanLike('1795871515925')).toBe(false);
    expect(containsPanLike('eventTime=1700000000000')).toBe(false);
  });

  it('tokens and ids with short digit runs', () => {
    for (const t of ['card-000123', 'term-000042', 'tx-000000001', 'merch-123456789012', '']) {
      expect(containsPanLike(t)).toBe(false);
    }
  });

  it('a separator run broken by a double space or another character does not join groups', () => {
    // each group is 4 digits: too short alone
    expect(containsPanLike('4111  1111  1111  1111')).toBe(false);
    expect(containsPanLike('4111/1111/1111/1111')).toBe(false);
  });

  it('is stateless across calls (global regex lastIndex does not leak)', () => {
    for (let i = 0; i < 3; i++) {
      expect(containsPanLike(VISA)).toBe(true);
      expect(containsPanLike('1234567812345678')).toBe(false);
    }
  });
});

describe('redactPanLike', () => {
  it('replaces only the PAN and keeps the surrounding text', () => {
    expect(redactPanLike(`card ${VISA} at term-000042 amount 1234`)).toBe('card [REDACTED-PAN] at term-000042 amount 1234');
    expect(redactPanLike(`a ${AMEX}, b 4111-1111-1111-1111.`)).toBe('a [REDACTED-PAN], b [REDACTED-PAN].');
  });

  it('leaves non-PAN digit runs alone', () => {
    const text = 'ts 1795871515925 id 1234567812345678 card-000123';
    expect(redactPanLike(text)).toBe(text);
    expect(redactPanLike('no digits here')).toBe('no digits here');
  });

  it('leaves no digit of a PAN hidden in a long run behind', () => {
    const out = redactPanLike(`x 0000000004111111111111111 y`);
    expect(out).toBe('x [REDACTED-PAN] y');
    expect(containsPanLike(out)).toBe(false);
    expect(redactPanLike(`x 0000${VISA} y`)).toBe('x [REDACTED-PAN] y');
  });

  it('its output never contains a PAN-like run', () => {
    const inputs = [VISA, `${VISA} ${AMEX}`, `9838${VISA}`, `4111 1111 1111 1111 / 3782-822463-10005`];
    for (const t of inputs) expect(containsPanLike(redactPanLike(t))).toBe(false);
  });
});

describe('bytesContainPanLike', () => {
  it('finds an ASCII PAN inside binary bytes', () => {
    const bytes = Buffer.concat([Buffer.from([0, 0xff, 0x02, 0x20]), Buffer.from(VISA, 'ascii'), Buffer.from([0x80, 0x01])]);
    expect(bytesContainPanLike(bytes)).toBe(true);
  });

  it('is false for binary bytes without one', () => {
    expect(bytesContainPanLike(Buffer.from([0, 1, 2, 3, 0x31, 0x32, 0x33, 0xff]))).toBe(false);
    expect(bytesContainPanLike(Buffer.from('card-000123'))).toBe(false);
    expect(bytesContainPanLike(Buffer.alloc(0))).toBe(false);
  });
});
