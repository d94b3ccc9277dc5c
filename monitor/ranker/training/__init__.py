"""Training rankers (above scoring, which it runs to have the features): fitting with
grouped cross-validation and calibration (`fit`), and a token's training run with its
guard rails, storage and audit (`service`)."""
