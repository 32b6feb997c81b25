// Runs @gutenye/ocr-node over the files named on the command line, loading the
// models once. Prints one JSON object per line: first {"load_ms"}, then
// {file, ms, text} per image, so load and per-image cost are kept apart.
// OCR_THREADS=N sets ONNX Runtime's intra-op threads (unset: ORT's default,
// one per physical core), to compare at ocrhost's thread count.
import Ocr from '@gutenye/ocr-node'

const files = process.argv.slice(2)
if (files.length === 0) {
  console.error('usage: node gutenye-ocr.mjs FILE...')
  process.exit(2)
}
const threads = Number.parseInt(process.env.OCR_THREADS ?? '', 10)
const onnxOptions = Number.isInteger(threads) && threads > 0 ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6
let t0 = process.hrtime.bigint()
const ocr = await Ocr.create({ onnxOptions })
console.log(JSON.stringify({ load_ms: ms(t0) }))

let failed = 0
for (const file of files) {
  t0 = process.hrtime.bigint()
  try {
    const lines = await ocr.detect(file)
    const elapsed = ms(t0)
    console.log(JSON.stringify({ file, ms: elapsed, text: lines.map((l) => l.text).join('\n') }))
  } catch (err) {
    failed++
    console.log(JSON.stringify({ file, ms: ms(t0), error: String(err?.message ?? err) }))
  }
}
process.exit(failed === 0 ? 0 : 1)
