"""Reports of a deployment record: the JSON summary, the rich live view and final text,
the Markdown job summary and the plain-words explanation. Renderers read the record only."""
