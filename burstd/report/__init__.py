"""The review page: gathering what burstd decided for a folder, and rendering it as self-contained HTML."""
