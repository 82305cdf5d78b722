// Almost.Serve: serve a checkpoint folder over the OpenAI-compatible HTTP API.
//   dotnet run --project samples/Almost.Serve -- --model <folder> [--port 8000] [--chat-template transcript|chatml]
using Almost.Serve;

// Options from the command line
ServeOptions options;
try
{
    options = ServeOptions.FromArgs(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(ServeOptions.Usage);
    return 2;
}

// Load the model and serve until Ctrl+C
await using var app = ServeApp.Build(options);
await app.RunAsync();
return 0;
