/** Bytes that did not arrive as announced, a file shorter than the range asked of it, or a transfer refused */
export class TransferError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TransferError'
  }
}
