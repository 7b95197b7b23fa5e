import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'

/** Lower-case hex SHA-256 of a file, read as a stream (a proof or an input can be larger than memory allows) */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}
