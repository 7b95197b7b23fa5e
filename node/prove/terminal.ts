/** `prove --wait` on a terminal: redrawing the live view in place */

/** Moves the cursor back over the previous frame and writes the new one, clearing what it leaves */
export function redrawText(previousLines: number, lines: string[]): string {
  let text = previousLines > 0 ? `\x1b[${previousLines}A\r` : ''
  for (const line of lines) text += `\x1b[2K${line}\n`
  if (lines.length < previousLines) text += '\x1b[J'
  return text
}
