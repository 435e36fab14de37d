"""Developer tooling: the local stack (`make run`), development keys and tokens, test harness."""
