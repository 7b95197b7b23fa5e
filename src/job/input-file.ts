import { copyFile, open } from 'node:fs/promises'
import { join } from 'node:path'
import type { JobRecord } from '../jobs-model/types.js'
import { toError } from '../net/framed-stream.js'
import { localInputMessage, resolveInputName } from '../files/inputs-folder.js'
import { JobFailure } from './errors.js'

/**
 * The file a job proves, on its submitter. Data mode: a copy in the job folder (the user may change the original
 * meanwhile); path mode: the name inside the inputs folder, which is this daemon's own. Sets record.inputSize.
 */
export async function jobInputFile(record: JobRecord, jobDir: string, inputsFolder: string): Promise<string> {
  const { request } = record
  if (request.inputMode === 'path') {
    const file = await resolveInputName(inputsFolder, request.input).catch((err: unknown) => {
      throw new JobFailure('INPUT', localInputMessage(err))
    })
    record.inputSize = file.size
    return file.path
  }
  const copy = join(jobDir, 'input')
  await copyFile(request.input, copy).catch((err: unknown) => {
    throw new JobFailure('INPUT', `cannot read the input ${request.input}: ${toError(err).message}`)
  })
  const handle = await open(copy, 'r')
  try {
    record.inputSize = (await handle.stat()).size
  } finally {
    await handle.close()
  }
  return copy
}
