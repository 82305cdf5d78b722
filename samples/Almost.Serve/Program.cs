// Almost.Serve: serve a checkpoint folder over the OpenAI-compatible HTTP API.
//   dotnet run --project samples/Almost.Serve -- --model <folder> [--port 8000] [--chat-template transcript|chatml]
using Almost.Samples;
using Almost.Serve;

// A bad argument or a bad model folder ends the program with one line on stderr and exit code 2, not a stack trace.
SampleArguments.ExitOnInputError(ServeOptions.Usage);

// Options from the command line
ServeOptions options;
try
{
    options = ServeOptions.FromArgs(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    Console.Error.WriteLine(ServeOptions.Usage);
    return 2;
}

// Load the model and serve until Ctrl+C
await using var app = ServeApp.Build(options);
await app.RunAsync();
return 0;
