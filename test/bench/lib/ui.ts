/** The benchmark's console output: a progress line (status) and ordinary lines (say). */

const isTTY = process.stdout.isTTY === true;
let statusShown = false;
let lastStatusPrint = 0;

/** A progress line: redrawn on a terminal, printed every few seconds otherwise. */
export function status(line: string, force = false): void {
  if (isTTY) {
    process.stdout.write(`\r\x1b[2K${line}`);
    statusShown = true;
  } else if (force || Date.now() - lastStatusPrint >= 5_000) {
    lastStatusPrint = Date.now();
    console.log(line);
  }
}

export function say(line: string): void {
  if (statusShown) {
    process.stdout.write('\r\x1b[2K');
    statusShown = false;
  }
  console.log(line);
}

export const stamp = (): string => new Date().toISOString().slice(11, 19);
