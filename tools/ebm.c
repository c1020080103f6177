/*
 * ebm: train restricted Boltzmann machines on IDX data, evaluate and
 * inspect the saved models, and draw their samples and filters, with
 * libebm.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ebm.h"

static void print_usage(FILE *out)
{
    fputs("Usage: ebm COMMAND [OPTIONS]\n"
          "\n"
          "Trains energy-based models with libebm: binary restricted\n"
          "Boltzmann machines (RBMs), general Boltzmann machines with\n"
          "lateral couplings (--model bm) and Gaussian-Bernoulli RBMs\n"
          "(--visible gaussian).\n"
          "\n"
          "Commands:\n"
          "  train   train a model on an IDX file (such as MNIST) and save\n"
          "          it as a NumPy .npz file\n"
          "  info    print the sizes and parameter statistics of a saved\n"
          "          model\n"
          "  eval    compute log Z of a saved model, exactly or by annealed\n"
          "          importance sampling, and its log-likelihood on data\n"
          "  sample  draw Gibbs samples of a saved model into a PNG file\n"
          "  filters draw the weights of each hidden unit into a PNG file\n"
          "\n"
          "Options:\n"
          "  --help     print this help and exit\n"
          "  --version  print the libebm version and exit\n"
          "\n"
          "Run 'ebm COMMAND --help' for the options of a command.\n"
          "Exit status: 0 on success, 1 on a runtime failure (a file that\n"
          "cannot be read or written, training that diverged), 2 on a\n"
          "command-line error.\n",
          out);
}

static int reject_command(const char *arg)
{
    if (arg[0] == '-') {
        fprintf(stderr,
                "ebm: unknown option '%s'; run 'ebm --help' for usage\n",
                arg);
    } else {
        fprintf(stderr,
                "ebm: unknown command '%s'; expected train, info, eval, "
                "sample or filters (run 'ebm --help' for usage)\n", arg);
    }
    return CLI_EXIT_USAGE;
}

/* Handles --help and --version, which take no further arguments. */
static int run_global_option(int argc, char **argv)
{
    if (argc > 2) {
        fprintf(stderr, "ebm: unexpected argument '%s' after %s\n",
                argv[2], argv[1]);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("ebm %s\n", ebm_version());
    } else {
        print_usage(stdout);
    }
    return CLI_EXIT_OK;
}

static int run_command(int argc, char **argv)
{
    const char *command = argv[1];

    if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0
        || strcmp(command, "--version") == 0) {
        return run_global_option(argc, argv);
    }
    if (strcmp(command, "train") == 0) {
        return cli_train(argc - 2, argv + 2);
    }
    if (strcmp(command, "info") == 0) {
        return cli_info(argc - 2, argv + 2);
    }
    if (strcmp(command, "eval") == 0) {
        return cli_eval(argc - 2, argv + 2);
    }
    if (strcmp(command, "sample") == 0) {
        return cli_sample(argc - 2, argv + 2);
    }
    if (strcmp(command, "filters") == 0) {
        return cli_filters(argc - 2, argv + 2);
    }
    return reject_command(command);
}

int main(int argc, char **argv)
{
    int status = CLI_EXIT_OK;

    if (argc < 2) {
        print_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    status = run_command(argc, argv);
    /* A full disk or a closed pipe must not pass for success. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "ebm: cannot write to standard output: %s\n",
                strerror(errno));
        return status == CLI_EXIT_OK ? CLI_EXIT_FAILURE : status;
    }
    return status;
}
