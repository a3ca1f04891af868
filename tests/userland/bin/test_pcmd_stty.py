"""stty and tty on the console: settings changed through standard input, reports, errors."""

from tests.pm.support import booted
from tests.userland.bin.psupport import installed, on_console, run_all

USAGE = "usage: stty [-F device] [-a | setting...]\n"
ALL = (
    "speed 115200 baud; rows 24; columns 80;\n"
    "intr = ^C; quit = ^\\; erase = ^?; kill = ^U; eof = ^D; eol = <undef>; eol2 = <undef>;"
    " start = ^Q; stop = ^S; susp = ^Z; rprnt = ^R; werase = ^W; lnext = ^V; discard = ^O;"
    " min = 1; time = 0;\n"
    "cs8 -parenb hupcl cread -clocal\n"
    "-ignbrk brkint -ignpar -parmrk -inpck -istrip -inlcr -igncr icrnl -ixon -ixoff -ixany"
    " imaxbel\n"
    "opost onlcr\n"
    "isig icanon iexten echo echoe -echok -echonl -noflsh -tostop echoctl echoke\n"
)


async def test_stty_on_the_console(autojump_clock):
    con = ["/bin/stty", "-F", "/dev/console"]
    with installed(oncons=on_console):
        async with booted() as system:
            results = await run_all(
                system,
                [
                    [*con, "-a"],
                    [*con],
                    ["/bin/oncons", "/bin/stty", "-echo", "-icanon", "min", "3", "intr", "^x"],
                    ["/bin/oncons", "/bin/stty", "rows", "30", "cols", "100", "erase", "^H"],
                    [*con],
                    [*con, "size", "speed", "echo", "icanon", "9600"],
                    [*con],
                    [*con, "raw", "-echo", "eof", "undef"],
                    [*con],
                    [*con, "cooked", "echo"],
                    [*con],
                    [*con, "sane", "115200"],
                    [*con],
                    ["/bin/stty"],
                    ["/bin/stty", "-F", "/nonexistent"],
                    [*con, "bogus"],
                    [*con, "min"],
                    [*con, "erase", "xy"],
                    [*con, "rows", "70000"],
                    ["/bin/stty", "-F"],
                ],
            )
            assert await system.run(["/bin/oncons", "/bin/stty"]) == (0, "")
            await system.console.expect("speed 115200 baud; rows 30; columns 100;")
            assert await system.run(["/bin/oncons", "/bin/tty"]) == (0, "")
            await system.console.expect("/dev/console")
    assert results == [
        (0, ALL),
        (0, "speed 115200 baud; rows 24; columns 80;\n"),
        (0, ""),
        (0, ""),
        (
            0,
            "speed 115200 baud; rows 30; columns 100;\nintr = ^X; erase = ^H; min = 3;\n"
            "-icanon -echo\n",
        ),
        (0, "30 100\n115200\n"),
        (0, "speed 9600 baud; rows 30; columns 100;\nintr = ^X; erase = ^H; min = 3;\n"),
        (0, ""),
        (
            0,
            "speed 9600 baud; rows 30; columns 100;\nintr = ^X; erase = ^H; eof = <undef>;\n"
            "-brkint -icrnl -imaxbel -opost -isig -icanon -echo\n",
        ),
        (0, ""),
        (
            0,
            "speed 9600 baud; rows 30; columns 100;\nintr = ^X; erase = ^H; eof = <undef>;\n"
            "-imaxbel\n",
        ),
        (0, ""),
        (0, "speed 115200 baud; rows 30; columns 100;\n"),
        (1, "stty: standard input: Inappropriate ioctl for device\n"),
        (1, "stty: /nonexistent: No such file or directory\n"),
        (2, "stty: invalid argument 'bogus'\n" + USAGE),
        (2, "stty: missing argument to 'min'\n" + USAGE),
        (2, "stty: invalid integer argument: 'xy'\n" + USAGE),
        (2, "stty: invalid integer argument: '70000'\n" + USAGE),
        (2, "stty: option requires an argument -- F\n" + USAGE),
    ]
