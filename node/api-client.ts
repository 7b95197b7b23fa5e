import { type ApiAddress, readApiAddress, readApiToken } from '../src/rpc/http/credentials.js'
import { CliError } from './errors.js'

/** Talks to the local daemon's HTTP API, found through the data dir's api.json and api.token */
export class ApiClient {
  private readonly address: ApiAddress
  private readonly token: string

  private constructor(address: ApiAddress, token: string) {
    this.address = address
    this.token = token
  }

  static async fromDataDir(dataDir: string): Promise<ApiClient> {
    let address: ApiAddress
    try {
      address = await readApiAddress(dataDir)
    } catch {
      throw new CliError(
        `no running daemon found in ${dataDir} (start one with \`proofmesh daemon\`, or pass --data-dir)`
      )
    }
    const token = await readApiToken(dataDir).catch(() => {
      throw new CliError(`cannot read the API token in ${dataDir}`)
    })
    return new ApiClient(address, token)
  }

  async get<T>(path: string, timeoutMs = 10_000): Promise<T> {
    let response: Response
    try {
      response = await fetch(new URL(path, this.address.url), {
        headers: { authorization: `Bearer ${this.token}` },
        signal: AbortSignal.timeout(timeoutMs)
      })
    } catch (err) {
      throw new CliError(
        `the daemon at ${this.address.url} (pid ${this.address.pid}) does not answer: ${(err as Error).message}`
      )
    }
    if (!response.ok) {
      const body = await response.text()
      throw new CliError(`the daemon answered ${response.status} for ${path}: ${body.trim()}`)
    }
    return (await response.json()) as T
  }
}
