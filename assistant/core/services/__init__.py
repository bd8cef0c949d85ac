"""The use cases the window, the command line and the server share: the
library, the conversation, rebuilding, folder sync, teaching from the library."""
