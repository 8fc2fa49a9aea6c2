"""What a run shows while it trains: images and moment maps (``viz``), the image-logging callback (``callbacks``)
and the loggers behind the W&B dashboards (``loggers``)."""
