"""`klaviyo-sync preview`: the templates a plan would write, rendered before (live) and after (manifests) with
sample contexts, as HTML, text, screenshots (where Chromium is found), an index.html gallery and a Markdown
summary for the pull-request comment.

- `contexts`: the sample contexts (profiles kept in git, `--context`, or a default);
- `pages`: rendering each template and context, and writing the folder;
- `chromium`: screenshots through a headless Chromium driven over its DevTools pipe;
- `scratch`: rendering through the account's own `template-render` (`--with-klaviyo`).
"""
