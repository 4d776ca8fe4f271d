import { StrictMode, type ComponentType } from "react";
import { createRoot } from "react-dom/client";
import { pageProps, type PageProps } from "./props";

/** Render a page's root component into the frame's <main id="page">. */
export function mount(Page: ComponentType<{ props: PageProps }>): void {
  const element = document.getElementById("page");
  if (!element) throw new Error("The frame has no #page element.");
  createRoot(element).render(
    <StrictMode>
      <Page props={pageProps()} />
    </StrictMode>,
  );
}
