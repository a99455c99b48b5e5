// A node:test reporter that prints one closing line, "e2e: N passed, N failed[, N skipped]",
// counting tests (not the suites around them).
export default async function* summary(source) {
  let passed = 0, failed = 0, skipped = 0;
  for await (const { type, data } of source) {
    if (type !== "test:pass" && type !== "test:fail") continue;
    if (data.details?.type === "suite") continue;
    if (type === "test:fail") failed++;
    else if (data.skip !== undefined || data.todo !== undefined) skipped++;
    else passed++;
  }
  yield `e2e: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`;
}
