import { stringify } from 'smol-toml'
import { ENV_CONFIG_PATH, type SchemaEntry, schemaEntries, sectionDocs, sectionNames } from './schema.js'

function renderEntry(entry: SchemaEntry): string {
  const { def } = entry
  return [
    `# ${def.doc}`,
    `# Expected: ${def.type.expected}. Environment: ${entry.envVar}${Array.isArray(def.default) ? ' (a JSON array, or comma-separated)' : ''}`,
    stringify({ [def.key]: def.default }).trim()
  ].join('\n')
}

/**
 * A commented TOML file with every key at its default. loadConfig reads it back to exactly
 * configDefaults, so it doubles as a starting config file.
 */
export function renderConfigToml(): string {
  const blocks: string[] = [
    [
      '# proofmesh daemon configuration',
      '#',
      `# Read from --config PATH or the ${ENV_CONFIG_PATH} environment variable.`,
      '# Priority: command-line flags > this file > PROOFMESH_* environment variables > defaults.',
      '# Durations are text such as "500ms", "5s", "10m", "1h". Unknown keys are errors, and so are',
      '# unknown PROOFMESH_* variables (except PROOFMESH_CONFIG and PROOFMESH_TEST_*).'
    ].join('\n')
  ]
  for (const entry of schemaEntries.filter((e) => e.section === null)) {
    blocks.push(renderEntry(entry))
  }
  for (const section of sectionNames) {
    blocks.push(`# ${sectionDocs[section]}\n[${section}]`)
    for (const entry of schemaEntries.filter((e) => e.section === section)) {
      blocks.push(renderEntry(entry))
    }
  }
  return `${blocks.join('\n\n')}\n`
}
