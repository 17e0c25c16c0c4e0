"""`burstd run`: the watcher, the arrival rules, the main loop and the process lifecycle under systemd."""
