"""The only code that writes: named actions, visibility rules, typed events published after commit."""
