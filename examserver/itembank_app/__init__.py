"""The item-bank area of the app shell: API, pages, the assembly task and the demo bank."""
