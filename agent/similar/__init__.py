"""Similar cases by meaning: resolved tickets and casefile's own past diagnoses.

``embed`` loads the local embedding model (WordLlama, whose wheel ships its weights), ``evidence``
reads the identifiers two cases can share (error codes, bug ids, deploys), ``rank`` combines both
(BM25 when the model cannot load, with a note saying so), ``past`` searches stored diagnoses and
``clusters`` groups today's investigations by shared cause ("7 tickets hit <bug> today").
"""
