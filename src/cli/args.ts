/**
 * The command-line machinery shared by every icspec command: commander configured so that
 * every usage error becomes one line `error: … (see icspec --help)` on stderr (exit 2),
 * never commander's own wording, a suggestion, a help dump or a stack trace.
 *
 * Option values are checked in argParsers that throw {@link BadValue} (an InvalidArgumentError)
 * with icspec's wording; commander's own errors (unknown option, unknown command, missing
 * option value) are reworded in {@link configure}.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

/** A usage error: printed as `error: <message> (see icspec --help)`, exit 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** whether the line ends with ` (see icspec --help)` */
    readonly seeHelp: boolean = true,
  ) {
    super(message);
  }
}

/** Help or version was shown: exit quietly with this code. */
export class HelpShown extends Error {
  constructor(readonly exitCode: number) {
    super('help shown');
  }
}

/** A bad option value, thrown from an argParser with icspec's wording. */
export class BadValue extends InvalidArgumentError {
  constructor(
    message: string,
    readonly seeHelp: boolean = true,
  ) {
    super(message);
  }
}

/**
 * The last BadValue an argParser threw: commander prefixes its message with its own wording
 * (`option '--x <v>' argument 'y' is invalid.`), so the original is kept here and reported as is.
 */
let lastBadValue: BadValue | undefined;

/** The message for an option given without its value, by the option's flags. */
const missingValue = new Map<string, string>();

/**
 * An option with a value: `parse` checks it (throwing BadValue), `missing` is the message when
 * the value is absent (`--nodes` at the end of the line).
 */
export const valueOption = <T>(flags: string, description: string, parse: (value: string, previous: T | undefined) => T, missing: string): Option => {
  missingValue.set(flags, missing);
  return new Option(flags, description).argParser<T | undefined>((v, prev) => {
    try {
      return parse(v, prev);
    } catch (e) {
      if (e instanceof BadValue) lastBadValue = e;
      throw e;
    }
  });
};

/** Throws `<flag> given twice` on an option's second occurrence (commander would keep the last). */
export const once = (flag: string, previous: unknown): void => {
  if (previous !== undefined) throw new BadValue(`${flag} given twice`);
};

export interface ConfigureOptions {
  /** the help text of this command */
  readonly help: () => string;
  /** `--json=1` for a boolean --json reads `--json takes no value` (else `unknown option --json=1`) */
  readonly noValueMessage?: boolean;
  /** an unknown option here is reported as an unknown command (the top level) */
  readonly unknownOptionIsCommand?: boolean;
}

const afterPrefix = (message: string): string => message.replace(/^error: /, '');

/** Reword a commander error raised by `cmd` into icspec's usage error (or a quiet exit). */
const translate = (cmd: Command, opts: ConfigureOptions, e: CommanderError): Error => {
  switch (e.code) {
    case 'commander.helpDisplayed':
    case 'commander.help':
    case 'commander.version':
      // help shown for a usage error (a command with subcommands but none named): exit 2
      return new HelpShown(e.exitCode === 0 ? 0 : 2);
    case 'commander.invalidArgument': {
      const b = lastBadValue;
      lastBadValue = undefined;
      return b ? new UsageError(b.message, b.seeHelp) : new UsageError(afterPrefix(e.message));
    }
    case 'commander.unknownOption': {
      const flag = /^error: unknown option '(.*)'$/s.exec(e.message)?.[1] ?? afterPrefix(e.message);
      if (opts.unknownOptionIsCommand) return new UsageError(`unknown command "${flag}"`);
      const eq = flag.indexOf('=');
      if (opts.noValueMessage && flag.startsWith('--') && eq > 0 && cmd.options.some((o) => o.long === flag.slice(0, eq) && !o.required && !o.optional)) {
        return new UsageError(`${flag.slice(0, eq)} takes no value`);
      }
      return new UsageError(`unknown option ${flag}`);
    }
    case 'commander.unknownCommand': {
      const name = /^error: unknown command '(.*)'$/s.exec(e.message)?.[1];
      return new UsageError(name === undefined ? afterPrefix(e.message) : `unknown command "${name}"`);
    }
    case 'commander.optionMissingArgument': {
      const flags = /^error: option '(.*)' argument missing$/s.exec(e.message)?.[1];
      return new UsageError((flags !== undefined ? missingValue.get(flags) : undefined) ?? afterPrefix(e.message));
    }
    default:
      return new UsageError(afterPrefix(e.message));
  }
};

/**
 * Configure one command: its help text (icspec's own, on stdout), no commander error output
 * (the error is thrown, reworded, and printed once by main), no suggestions.
 */
export const configure = (cmd: Command, opts: ConfigureOptions): Command =>
  cmd
    .exitOverride((e) => {
      throw translate(cmd, opts, e);
    })
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: (s) => process.stderr.write(s),
      outputError: () => {},
    })
    .configureHelp({ formatHelp: () => opts.help() + '\n' })
    .showSuggestionAfterError(false)
    .helpOption('-h, --help', 'show this help');
