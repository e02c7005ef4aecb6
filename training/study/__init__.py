"""`flickr-mammal study`: the paper's findings F1-F5 and three beyond it (F6-F8), measured, each against its
precondition, with figures and the exact commands. ``training.study.report.run_study`` runs it; this package
imports nothing, so that `sweep` and the worker processes load only the run cache."""
