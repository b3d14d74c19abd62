"""A Hydra sweeper that launches a given list of jobs (see :mod:`.todo_sweeper`)."""
