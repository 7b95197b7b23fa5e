import type { CommandModule } from 'yargs'
import { JOB_ID_PATTERN } from '../../src/jobs-model/job-id.js'
import { isJobState, JOB_STATES } from '../../src/jobs-model/states.js'
import type { JobRecord } from '../../src/jobs-model/types.js'
import { NO_SUCH_JOB } from '../../src/rpc/http/jobs-routes.js'
import { ApiError, connectDaemon } from '../api-client.js'
import { CliError } from '../errors.js'
import { formatJobDetail } from '../format/job-detail.js'
import { formatJobsTable } from '../format/jobs-table.js'
import { baseOptions } from '../options.js'

interface JobsArgs {
  config?: string
  'data-dir'?: string
  state?: string[]
  json?: boolean
}

interface JobArgs {
  config?: string
  'data-dir'?: string
  id: string
  json?: boolean
}

function jobPath(id: string): string {
  if (!JOB_ID_PATTERN.test(id)) throw new CliError(`${id} is not a job id (letters, digits, "_" and "-")`, 2)
  return `/v1/jobs/${id}`
}

/** A call about the job the command line names: a job this daemon does not have is a usage error (exit 2) */
async function aboutJob<T>(id: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    if (err instanceof ApiError && err.code === NO_SUCH_JOB)
      throw new CliError(`no job ${id} on this daemon (\`proofmesh jobs\` lists its jobs)`, 2)
    throw err
  }
}

export const jobsCommand: CommandModule<object, JobsArgs> = {
  command: 'jobs',
  describe: 'List the jobs this node submitted',
  builder: (yargs) =>
    yargs
      .options({
        ...baseOptions,
        state: {
          type: 'string',
          array: true,
          describe: `Only jobs in these states (repeatable or comma-separated): ${JOB_STATES.join(', ')}`
        },
        json: { type: 'boolean', describe: 'Print the job records as JSON' }
      })
      .example([
        ['$0 jobs', 'every job, with its state, peers and segments'],
        ['$0 jobs --state queued,proving', 'the jobs still waiting or proving'],
        ['$0 jobs --state failed --json', 'the failed ones, as JSON']
      ]),
  handler: async (args) => {
    const states = (args.state ?? []).flatMap((value) => value.split(',')).map((value) => value.trim())
    for (const state of states) {
      if (state !== '' && !isJobState(state)) {
        throw new CliError(`--state ${state}: expected one of ${JOB_STATES.join(', ')}`, 2)
      }
    }
    const query = states.filter((state) => state !== '').join(',')
    const client = await connectDaemon(args)
    const records = await client.get<JobRecord[]>(
      query === '' ? '/v1/jobs' : `/v1/jobs?state=${encodeURIComponent(query)}`
    )
    console.log(args.json === true ? JSON.stringify(records, null, 2) : formatJobsTable(records))
  }
}

export const jobCommand: CommandModule<object, JobArgs> = {
  command: 'job <id>',
  describe: 'Show one job in detail: request, state, peers, segments, phases, proof',
  builder: (yargs) =>
    yargs
      .positional('id', {
        type: 'string',
        demandOption: true,
        describe: 'The job id (`proofmesh jobs` lists them)'
      })
      .options({ ...baseOptions, json: { type: 'boolean', describe: 'Print the job record as JSON' } })
      .example([
        ['$0 job 7Gq2kX9mP4', 'the job in detail'],
        ['$0 job 7Gq2kX9mP4 --json', 'its record as JSON']
      ]),
  handler: async (args) => {
    const path = jobPath(args.id)
    const client = await connectDaemon(args)
    const record = await aboutJob(args.id, () => client.get<JobRecord>(path))
    console.log(args.json === true ? JSON.stringify(record, null, 2) : formatJobDetail(record))
  }
}

export const cancelCommand: CommandModule<object, JobArgs> = {
  command: 'cancel <id>',
  describe: 'Cancel a job this node submitted: its peers stop and release their units',
  builder: (yargs) =>
    yargs
      .positional('id', { type: 'string', demandOption: true, describe: 'The job id' })
      .options({ ...baseOptions, json: { type: 'boolean', describe: 'Print the job record as JSON' } })
      .example([['$0 cancel 7Gq2kX9mP4', 'stop the job']]),
  handler: async (args) => {
    const path = jobPath(args.id)
    const client = await connectDaemon(args)
    const record = await aboutJob(args.id, () => client.post<JobRecord>(`${path}/cancel`))
    if (args.json === true) {
      console.log(JSON.stringify(record, null, 2))
      return
    }
    console.log(`job ${record.id}: ${record.state}`)
  }
}
