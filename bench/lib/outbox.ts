import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';

/**
 * Reads codes back from the log provider's outbox, the file a developer reads them from: the
 * product needs no test hook for the bench. The provider appends synchronously before the API
 * answers, so once a start's response arrived its line is in the file. Reads only what was
 * appended since the last look (from where the file ended when the reader was made).
 */
export interface OutboxReader {
  /** The code sent for a verification, once; undefined when none was written for it. */
  take(verificationId: string): string | undefined;
  close(): void;
}

const CODE = /(?<!\d)(\d{4,10})(?!\d)/;

export function createOutboxReader(path: string): OutboxReader {
  let fd: number | undefined;
  let position = existsSync(path) ? statSync(path).size : 0;
  let partial = '';
  const codes = new Map<string, string>();
  const buffer = Buffer.alloc(1 << 20);

  function readNew(): void {
    fd ??= existsSync(path) ? openSync(path, 'r') : undefined;
    if (fd === undefined) return;
    const size = fstatSync(fd).size;
    while (position < size) {
      const read = readSync(fd, buffer, 0, Math.min(buffer.length, size - position), position);
      if (read === 0) break;
      position += read;
      const lines = (partial + buffer.toString('utf8', 0, read)).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line) continue;
        const entry = JSON.parse(line) as { verificationId?: string; body?: string };
        const code = entry.body === undefined ? undefined : CODE.exec(entry.body)?.[1];
        if (entry.verificationId && code) codes.set(entry.verificationId, code);
      }
    }
  }

  return {
    take(verificationId) {
      if (!codes.has(verificationId)) readNew();
      const code = codes.get(verificationId);
      codes.delete(verificationId);
      return code;
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
