"""The application: CLI, scheduler, delivery, web server and the wiring between them."""
