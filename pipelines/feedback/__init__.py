"""The feedback loop: inspection outcomes come back (returned workbooks, department sources),
go into the case store, and measure the lists (see docs/feedback.md)."""
