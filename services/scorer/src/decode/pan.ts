/**
 * PAN detection. Card numbers are 13–19 digits that start with an issuer digit 2–6 and pass
 * the Luhn check, often written with spaces or dashes. Nothing the service writes may contain one, so every string that leaves
 * the service through a DLQ reason, a log line or a span attribute can be checked here.
 */

// Whole digit runs of 13 or more digits, optionally grouped by single spaces or dashes. The run
// is not capped at 19: a capped match would split a longer run and miss a PAN straddling the
// split (and redaction would leave the rest of the run behind). Windows are checked below.
const CANDIDATE = /\d(?:[ -]?\d){12,}/g;

/** Luhn check of digits[start, end), without copying the window. */
function luhnValid(digits: string, start: number, end: number): boolean {
  let sum = 0;
  let double = false;
  for (let i = end - 1; i >= start; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/**
 * Card networks issue PANs whose first digit (the major industry identifier) is 2–6:
 * Mastercard 2/5, Amex/Diners/JCB 3, Visa 4, Discover/UnionPay 6. Requiring it keeps epoch-ms
 * timestamps (1…) and long float digits from being taken for card numbers one time in ten.
 */
function plausibleIssuer(digits: string, start: number): boolean {
  const d = digits.charCodeAt(start) - 48;
  return d >= 2 && d <= 6;
}

/** True when the text holds a 13–19 digit run that starts like a card number and passes Luhn. */
export function containsPanLike(text: string): boolean {
  // Most texts (every id of every event) hold fewer than 13 digits: say so without a regex.
  let digits = 0;
  for (let i = 0; i < text.length && digits < 13; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
  }
  if (digits < 13) return false;
  for (const match of text.matchAll(CANDIDATE)) {
    const digits = match[0].replace(/[ -]/g, '');
    // Check every 13–19 long window: a PAN can hide inside a longer digit run.
    for (let start = 0; start + 13 <= digits.length; start++) {
      if (!plausibleIssuer(digits, start)) continue;
      for (let len = 13; len <= 19 && start + len <= digits.length; len++) {
        if (luhnValid(digits, start, start + len)) return true;
      }
    }
  }
  return false;
}

/** Replaces every PAN-like run with a fixed marker, for text that must be written somewhere. */
export function redactPanLike(text: string): string {
  return text.replace(CANDIDATE, (run) => (containsPanLike(run) ? '[REDACTED-PAN]' : run));
}

/** Same check over raw bytes (an undecodable payload may still carry a PAN in ASCII). */
export function bytesContainPanLike(bytes: Buffer): boolean {
  return containsPanLike(bytes.toString('latin1'));
}
