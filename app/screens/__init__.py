"""Full screens and modal screens of the TUI."""
