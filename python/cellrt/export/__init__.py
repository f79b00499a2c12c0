"""Export of trained models to deployable packages (imports torch)."""
