/**
 * Checking recorded operation histories: parsing and pairing (history.ts), the models
 * (models.ts), the linearizability search (search.ts, memo.ts), evidence for a violation
 * (evidence.ts), the check itself (linearizable.ts) and its report (format.ts). docs/SCENARIOS.md, "Checking histories".
 */
export { HistoryError, eventProblem, pairOperations, parseHistory, type EventType, type HistoryOp, type Operation, type OperationName } from './history.ts';
export { modelNames, type ModelName } from './models.ts';
export { describeOperation, evidenceOperationsMax, operationText, type Evidence, type EvidenceOperation } from './evidence.ts';
export { formatLinearizabilityResult } from './format.ts';
export { checkDefaults, checkLinearizable, type CheckOptions, type KeyVerdict, type LinearizabilityResult, type Verdict } from './linearizable.ts';
