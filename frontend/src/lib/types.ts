// The API's shapes, as the pages use them (the OpenAPI schema at /api/schema/ is complete).
export interface Workflow {
  id: string;
  namespace: string;
  name: string;
  description: string;
  tags: string[];
  active: boolean;
  owner: string | null;
  version: number;
  checksum: string;
  created_at: string;
  updated_at: string;
  last_run?: { id: string; status: string; created_at: string; finished_at: string | null } | null;
}

export interface WorkflowDetail extends Workflow {
  definition: Definition;
}

export interface DefinitionNode {
  id: string;
  type: string;
  name?: string;
  data?: Record<string, unknown>;
  retry?: Record<string, unknown>;
  timeout?: number;
  position?: { x: number; y: number };
  [key: string]: unknown;
}

export interface DefinitionEdge {
  source: string;
  target: string;
  sourceHandle?: string;
  [key: string]: unknown;
}

export interface Definition {
  name: string;
  namespace?: string;
  description?: string;
  settings?: Record<string, unknown>;
  inputs?: Record<string, unknown>;
  output?: unknown;
  triggers?: unknown;
  nodes: DefinitionNode[];
  edges: DefinitionEdge[];
  [key: string]: unknown;
}

export interface Problem {
  code: string;
  message: string;
  severity: "error" | "warning";
  node?: string;
  edge?: string;
  field?: string;
  details?: Record<string, unknown>;
}

export interface ValidationReport {
  valid: boolean;
  errors: Problem[];
  warnings: Problem[];
}

export interface NodeTypeInfo {
  name: string;
  category: string;
  description: string;
  data_schema: JsonSchema;
  output_schema: JsonSchema;
  handles: { static?: string[]; from_data?: string | null; [key: string]: unknown } | null;
  waits: boolean;
  expression_fields: string[];
}

export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  default?: unknown;
  format?: string;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  additionalProperties?: boolean | JsonSchema;
  [key: string]: unknown;
}

export interface NodeRun {
  node_id: string;
  node_type: string;
  iteration: number | null;
  status: string;
  attempt: number;
  output: unknown;
  branch: string | null;
  error: unknown;
  started_at: string | null;
  finished_at: string | null;
  children?: { total: number | null; started: number; statuses: Record<string, number>; url: string } | null;
}

export interface Execution {
  id: string;
  workflow: string;
  workflow_name: string;
  version: number;
  status: string;
  input: unknown;
  output: unknown;
  error: unknown;
  priority: string;
  trigger: string;
  started_by: string | null;
  parent: string | null;
  parent_node: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface ExecutionDetail extends Execution {
  variables: unknown;
  nodes: NodeRun[];
}
