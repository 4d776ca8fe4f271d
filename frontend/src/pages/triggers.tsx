// Schedules and webhooks: what starts workflows without a person pressing Run.
import { useEffect, useState } from "react";
import { Notice, errorText } from "../components/Notice";
import { api, query, type Page } from "../lib/api";
import { mount } from "../lib/mount";
import { may } from "../lib/props";
import type { Workflow } from "../lib/types";
import { SchedulesSection } from "../triggers/SchedulesSection";
import { WebhooksSection } from "../triggers/WebhooksSection";
import "../triggers/triggers.css";
import type { WorkflowChoice } from "../triggers/types";

function TriggersPage() {
  const [workflows, setWorkflows] = useState<WorkflowChoice[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!may("write")) return;  // only the create forms pick a workflow
    api<Page<Workflow>>(`workflows${query({ ordering: "namespace,name", page_size: 500 })}`).then(
      (page) => setWorkflows(page.results.map((workflow) => ({ id: workflow.id, label: `${workflow.namespace}/${workflow.name}` }))),
      (failure) => setError(errorText(failure)),
    );
  }, []);

  return (
    <div className="page">
      <div className="page-head">
        <h1>Schedules &amp; webhooks</h1>
      </div>
      {error && <Notice kind="error">{error}</Notice>}
      <SchedulesSection workflows={workflows} />
      <WebhooksSection workflows={workflows} />
    </div>
  );
}

mount(TriggersPage);
