// What the server-rendered frame hands each page: the user, the CSRF token, page ids.
export interface PageUser {
  username: string;
  isStaff: boolean;
  permissions: string[];
}

export interface PageProps {
  page: string;
  csrfToken: string;
  user: PageUser;
  workflowId?: string | null;
  executionId?: string;
}

let cached: PageProps | null = null;

export function pageProps(): PageProps {
  if (cached === null) {
    const element = document.getElementById("page-props");
    cached = JSON.parse(element?.textContent ?? "{}") as PageProps;
  }
  return cached;
}

export function may(permission: "read" | "write" | "execute" | "admin"): boolean {
  return pageProps().user.permissions.includes(`workflow.${permission}`);
}
