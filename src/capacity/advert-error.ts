/** Why an advert was not accepted; `reject` penalises the sender in gossipsub's score, `ignore` does not */
export type AdvertVerdict = 'reject' | 'ignore'

export class AdvertValidationError extends Error {
  readonly verdict: AdvertVerdict
  readonly reason: string

  constructor(verdict: AdvertVerdict, reason: string, detail: string) {
    super(detail)
    this.name = 'AdvertValidationError'
    this.verdict = verdict
    this.reason = reason
  }
}
