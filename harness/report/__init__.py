"""Report: the results JSON every leaderboard is rendered from."""
