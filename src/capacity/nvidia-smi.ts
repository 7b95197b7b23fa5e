/** What one GPU reports; MiB and percent as nvidia-smi prints them with `nounits` */
export interface GpuInfo {
  index: number
  name: string
  uuid: string
  memoryTotalMiB: number
  memoryUsedMiB: number
  utilizationPercent: number
}

export const NVIDIA_SMI_FIELDS = [
  'index',
  'name',
  'uuid',
  'memory.total',
  'memory.used',
  'utilization.gpu'
] as const

export const NVIDIA_SMI_ARGS: readonly string[] = [
  `--query-gpu=${NVIDIA_SMI_FIELDS.join(',')}`,
  '--format=csv,noheader,nounits'
]

/** nvidia-smi output that is neither a GPU line nor empty */
export class NvidiaSmiParseError extends Error {
  readonly line: number

  constructor(line: number, reason: string) {
    super(`nvidia-smi output line ${line}: ${reason}`)
    this.name = 'NvidiaSmiParseError'
    this.line = line
  }
}

/** Printed with exit code 0 by some driver versions when no GPU is visible */
const NO_DEVICES = /^No devices were found/i

/**
 * Parses `nvidia-smi --query-gpu=index,name,uuid,memory.total,memory.used,utilization.gpu
 * --format=csv,noheader,nounits`. nvidia-smi quotes nothing, so the name (which may hold spaces or
 * even ", ") is everything between the first field and the last four. Bracketed values such as
 * "[N/A]" (MIG mode), "[Not Supported]" or "[Unknown Error]" read as 0. Any other malformed
 * line throws NvidiaSmiParseError: a half-understood output is not trusted.
 */
export function parseNvidiaSmiCsv(text: string): GpuInfo[] {
  const gpus: GpuInfo[] = []
  const lines = text.split(/\r?\n/)
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim()
    const lineNo = i + 1
    if (line === '' || NO_DEVICES.test(line)) {
      continue
    }
    const parts = line.split(', ')
    if (parts.length < NVIDIA_SMI_FIELDS.length) {
      throw new NvidiaSmiParseError(
        lineNo,
        `expected ${NVIDIA_SMI_FIELDS.length} fields, got ${parts.length}`
      )
    }
    const [indexText = '', ...rest] = parts
    const tail = rest.splice(rest.length - 4, 4)
    const [uuid = '', totalText = '', usedText = '', utilText = ''] = tail.map((p) => p.trim())
    const name = rest.join(', ').trim()
    if (!/^\d+$/.test(indexText.trim())) {
      throw new NvidiaSmiParseError(lineNo, 'index is not a number')
    }
    if (name === '' || uuid === '' || /\s/.test(uuid)) {
      throw new NvidiaSmiParseError(lineNo, 'missing name or uuid')
    }
    gpus.push({
      index: Number(indexText.trim()),
      name,
      uuid,
      memoryTotalMiB: readNumber(totalText, lineNo, 'memory.total'),
      memoryUsedMiB: readNumber(usedText, lineNo, 'memory.used'),
      utilizationPercent: readNumber(utilText, lineNo, 'utilization.gpu')
    })
  }
  return gpus
}

function readNumber(text: string, line: number, field: string): number {
  if (/^\[.*\]$/.test(text)) {
    return 0
  }
  if (!/^\d+(\.\d+)?$/.test(text)) {
    throw new NvidiaSmiParseError(line, `${field} is not a number`)
  }
  return Number(text)
}
