// A wait as GET /api/bookmarks returns it; for a user action the request holds the question.
import type { JsonSchema } from "../lib/types";

export interface ApprovalRequest {
  prompt?: string;
  form?: JsonSchema | null;
  outcomes?: string[];
  timeout_outcome?: string | null;
}

export interface Wait {
  id: number;
  execution: string;
  workflow: string;
  node_id: string;
  iteration: string;
  kind: string;
  status: string;
  assignee: string;
  due_at: string | null;
  request: ApprovalRequest | null;
  created_at: string;
}
