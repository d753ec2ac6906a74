int cmd_message(int argc, char **argv);
int cmd_message(int argc, char **argv) { (void)argc; (void)argv; return 1; }
