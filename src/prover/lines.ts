/** The newline byte that ends every NPP message and every stderr line */
const NEWLINE = 0x0a

/** How much of an oversized line is kept, enough to read the reply's `id` that serializers write early */
const OVERSIZED_HEAD_BYTES = 256

/**
 * Splits a byte stream into lines while holding at most `maxLineBytes` of one line in memory: a longer
 * line is dropped as it streams in and reported once, with its first bytes, when its newline arrives.
 */
export class LineSplitter {
  private readonly maxLineBytes: number
  private readonly onLine: (line: Buffer) => void
  private readonly onOversized: (head: Buffer, length: number) => void
  private chunks: Buffer[] = []
  private size = 0
  private dropping = false
  private dropHead: Buffer = Buffer.alloc(0)

  constructor(
    maxLineBytes: number,
    onLine: (line: Buffer) => void,
    onOversized: (head: Buffer, length: number) => void
  ) {
    this.maxLineBytes = maxLineBytes
    this.onLine = onLine
    this.onOversized = onOversized
  }

  push(chunk: Buffer): void {
    let start = 0
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start)
      const end = newline === -1 ? chunk.length : newline
      this.append(chunk.subarray(start, end))
      if (newline === -1) {
        return
      }
      this.endLine()
      start = newline + 1
    }
  }

  /** Bytes of an unterminated last line, for the caller to report at end of stream */
  get pending(): number {
    return this.size
  }

  private append(piece: Buffer): void {
    if (!this.dropping && this.size + piece.length > this.maxLineBytes) {
      this.dropping = true
      this.dropHead = Buffer.from(Buffer.concat([...this.chunks, piece]).subarray(0, OVERSIZED_HEAD_BYTES))
      this.chunks = []
    }
    if (!this.dropping) {
      this.chunks.push(piece)
    }
    this.size += piece.length
  }

  private endLine(): void {
    if (this.dropping) {
      this.onOversized(this.dropHead, this.size)
    } else {
      this.onLine(
        this.chunks.length === 1 && this.chunks[0] !== undefined ? this.chunks[0] : Buffer.concat(this.chunks)
      )
    }
    this.chunks = []
    this.size = 0
    this.dropping = false
    this.dropHead = Buffer.alloc(0)
  }
}

/** The last `capacity` lines, kept to explain a crash or a failed command */
export class LineTail {
  private readonly capacity: number
  private readonly items: string[] = []

  constructor(capacity: number) {
    this.capacity = capacity
  }

  push(line: string): void {
    this.items.push(line)
    if (this.items.length > this.capacity) {
      this.items.shift()
    }
  }

  lines(): string[] {
    return [...this.items]
  }
}
