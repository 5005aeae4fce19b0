// echoic's own minimal view of the ONNX Runtime C ABI. No ORT headers are used at
// build time: libonnxruntime is dlopen()ed and its OrtApi function table is read
// through this struct. OrtApi is append-only, so the leading slots below follow
// the public table's order exactly; slots echoic never calls are `void*`
// placeholders. Only the functions up to ModelMetadataGetCustomMetadataMapKeys
// (slot 123, API version 3 = ORT 1.3) are needed, so kOrtApiVersion is 3. A few
// later slots (session config entries, the shared CPU arena: ORT >= 1.11) are read
// only after checking the loaded library's version (OptionalApi in session.cc).
#ifndef ECHOIC_ORT_ORT_API_H_
#define ECHOIC_ORT_ORT_API_H_

#include <cstddef>
#include <cstdint>

namespace echoic::ort::c {

constexpr uint32_t kOrtApiVersion = 3;

// Opaque ORT objects.
struct OrtEnv;
struct OrtStatus;
struct OrtMemoryInfo;
struct OrtSession;
struct OrtValue;
struct OrtRunOptions;
struct OrtTypeInfo;
struct OrtTensorTypeAndShapeInfo;
struct OrtSessionOptions;
struct OrtModelMetadata;
struct OrtArenaCfg;

// Same layout as ORT's OrtAllocator (a versioned vtable); we only pass pointers.
struct OrtAllocator {
  uint32_t version;
  void* (*Alloc)(OrtAllocator* self, size_t size);
  void (*Free)(OrtAllocator* self, void* p);
  const OrtMemoryInfo* (*Info)(const OrtAllocator* self);
};

// Enum values mirror ORT's (they cross the ABI as ints).
enum OrtErrorCode : int {
  ORT_OK = 0,
  ORT_FAIL = 1,
  ORT_INVALID_ARGUMENT = 2,
  ORT_NO_SUCHFILE = 3,
  ORT_NO_MODEL = 4,
  ORT_ENGINE_ERROR = 5,
  ORT_RUNTIME_EXCEPTION = 6,
  ORT_INVALID_PROTOBUF = 7,
  ORT_MODEL_LOADED = 8,
  ORT_NOT_IMPLEMENTED = 9,
  ORT_INVALID_GRAPH = 10,
  ORT_EP_FAIL = 11,
};
enum OrtLoggingLevel : int {
  ORT_LOGGING_LEVEL_VERBOSE = 0,
  ORT_LOGGING_LEVEL_INFO = 1,
  ORT_LOGGING_LEVEL_WARNING = 2,
  ORT_LOGGING_LEVEL_ERROR = 3,
  ORT_LOGGING_LEVEL_FATAL = 4,
};
enum ONNXTensorElementDataType : int {
  ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED = 0,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT = 1,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8 = 2,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8 = 3,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16 = 4,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16 = 5,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 = 6,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 = 7,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING = 8,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL = 9,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 = 10,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE = 11,
};
enum ONNXType : int { ONNX_TYPE_UNKNOWN = 0, ONNX_TYPE_TENSOR = 1 };
enum GraphOptimizationLevel : int {
  ORT_DISABLE_ALL = 0,
  ORT_ENABLE_BASIC = 1,
  ORT_ENABLE_EXTENDED = 2,
  ORT_ENABLE_ALL = 99,
};
enum OrtAllocatorType : int { OrtInvalidAllocator = -1, OrtDeviceAllocator = 0, OrtArenaAllocator = 1 };
enum OrtMemType : int { OrtMemTypeCPUInput = -2, OrtMemTypeCPUOutput = -1, OrtMemTypeDefault = 0 };

using OrtLoggingFunction = void (*)(void* param, OrtLoggingLevel severity, const char* category, const char* logid,
                                    const char* code_location, const char* message);

using St = OrtStatus*;  // nullptr means success

struct OrtApi {
  void* CreateStatus;                                // 0
  OrtErrorCode (*GetErrorCode)(const OrtStatus*);    // 1
  const char* (*GetErrorMessage)(const OrtStatus*);  // 2
  void* CreateEnv;                                   // 3
  St (*CreateEnvWithCustomLogger)(OrtLoggingFunction, void* param, OrtLoggingLevel, const char* logid,
                                  OrtEnv** out);                                                     // 4
  void* EnableTelemetryEvents;                                                                       // 5
  void* DisableTelemetryEvents;                                                                      // 6
  St (*CreateSession)(const OrtEnv*, const char* path, const OrtSessionOptions*, OrtSession** out);  // 7
  St (*CreateSessionFromArray)(const OrtEnv*, const void* data, size_t size, const OrtSessionOptions*,
                               OrtSession** out);  // 8
  St (*Run)(OrtSession*, const OrtRunOptions*, const char* const* input_names, const OrtValue* const* inputs,
            size_t num_inputs, const char* const* output_names, size_t num_outputs, OrtValue** outputs);  // 9
  St (*CreateSessionOptions)(OrtSessionOptions** out);                                                    // 10
  void* SetOptimizedModelFilePath;                                                                        // 11
  void* CloneSessionOptions;                                                                              // 12
  void* SetSessionExecutionMode;                                                                          // 13
  void* EnableProfiling;                                                                                  // 14
  void* DisableProfiling;                                                                                 // 15
  St (*EnableMemPattern)(OrtSessionOptions*);                                                             // 16
  St (*DisableMemPattern)(OrtSessionOptions*);                                                            // 17
  St (*EnableCpuMemArena)(OrtSessionOptions*);                                                            // 18
  St (*DisableCpuMemArena)(OrtSessionOptions*);                                                           // 19
  void* SetSessionLogId;                                                                                  // 20
  void* SetSessionLogVerbosityLevel;                                                                      // 21
  void* SetSessionLogSeverityLevel;                                                                       // 22
  St (*SetSessionGraphOptimizationLevel)(OrtSessionOptions*, GraphOptimizationLevel);                     // 23
  St (*SetIntraOpNumThreads)(OrtSessionOptions*, int);                                                    // 24
  St (*SetInterOpNumThreads)(OrtSessionOptions*, int);                                                    // 25
  void* CreateCustomOpDomain;                                                                             // 26
  void* CustomOpDomain_Add;                                                                               // 27
  void* AddCustomOpDomain;                                                                                // 28
  void* RegisterCustomOpsLibrary;                                                                         // 29
  St (*SessionGetInputCount)(const OrtSession*, size_t* out);                                             // 30
  St (*SessionGetOutputCount)(const OrtSession*, size_t* out);                                            // 31
  void* SessionGetOverridableInitializerCount;                                                            // 32
  St (*SessionGetInputTypeInfo)(const OrtSession*, size_t index, OrtTypeInfo** out);                      // 33
  St (*SessionGetOutputTypeInfo)(const OrtSession*, size_t index, OrtTypeInfo** out);                     // 34
  void* SessionGetOverridableInitializerTypeInfo;                                                         // 35
  St (*SessionGetInputName)(const OrtSession*, size_t index, OrtAllocator*, char** out);                  // 36
  St (*SessionGetOutputName)(const OrtSession*, size_t index, OrtAllocator*, char** out);                 // 37
  void* SessionGetOverridableInitializerName;                                                             // 38
  void* CreateRunOptions;                                                                                 // 39
  void* RunOptionsSetRunLogVerbosityLevel;                                                                // 40
  void* RunOptionsSetRunLogSeverityLevel;                                                                 // 41
  void* RunOptionsSetRunTag;                                                                              // 42
  void* RunOptionsGetRunLogVerbosityLevel;                                                                // 43
  void* RunOptionsGetRunLogSeverityLevel;                                                                 // 44
  void* RunOptionsGetRunTag;                                                                              // 45
  void* RunOptionsSetTerminate;                                                                           // 46
  void* RunOptionsUnsetTerminate;                                                                         // 47
  void* CreateTensorAsOrtValue;                                                                           // 48
  St (*CreateTensorWithDataAsOrtValue)(const OrtMemoryInfo*, void* data, size_t nbytes, const int64_t* shape,
                                       size_t rank, ONNXTensorElementDataType, OrtValue** out);  // 49
  St (*IsTensor)(const OrtValue*, int* out);                                                     // 50
  St (*GetTensorMutableData)(OrtValue*, void** out);                                             // 51
  void* FillStringTensor;                                                                        // 52
  void* GetStringTensorDataLength;                                                               // 53
  void* GetStringTensorContent;                                                                  // 54
  St (*CastTypeInfoToTensorInfo)(const OrtTypeInfo*, const OrtTensorTypeAndShapeInfo** out);     // 55
  St (*GetOnnxTypeFromTypeInfo)(const OrtTypeInfo*, ONNXType* out);                              // 56
  void* CreateTensorTypeAndShapeInfo;                                                            // 57
  void* SetTensorElementType;                                                                    // 58
  void* SetDimensions;                                                                           // 59
  St (*GetTensorElementType)(const OrtTensorTypeAndShapeInfo*, ONNXTensorElementDataType* out);  // 60
  St (*GetDimensionsCount)(const OrtTensorTypeAndShapeInfo*, size_t* out);                       // 61
  St (*GetDimensions)(const OrtTensorTypeAndShapeInfo*, int64_t* dims, size_t n);                // 62
  void* GetSymbolicDimensions;                                                                   // 63
  void* GetTensorShapeElementCount;                                                              // 64
  St (*GetTensorTypeAndShape)(const OrtValue*, OrtTensorTypeAndShapeInfo** out);                 // 65
  void* GetTypeInfo;                                                                             // 66
  void* GetValueType;                                                                            // 67
  void* CreateMemoryInfo;                                                                        // 68
  St (*CreateCpuMemoryInfo)(OrtAllocatorType, OrtMemType, OrtMemoryInfo** out);                  // 69
  void* CompareMemoryInfo;                                                                       // 70
  void* MemoryInfoGetName;                                                                       // 71
  void* MemoryInfoGetId;                                                                         // 72
  void* MemoryInfoGetMemType;                                                                    // 73
  void* MemoryInfoGetType;                                                                       // 74
  void* AllocatorAlloc;                                                                          // 75
  St (*AllocatorFree)(OrtAllocator*, void* p);                                                   // 76
  void* AllocatorGetInfo;                                                                        // 77
  St (*GetAllocatorWithDefaultOptions)(OrtAllocator** out);                                      // 78
  void* unused_79_to_91[13];                  // AddFreeDimensionOverride .. KernelContext_GetOutput   79-91
  void (*ReleaseEnv)(OrtEnv*);                // 92
  void (*ReleaseStatus)(OrtStatus*);          // 93
  void (*ReleaseMemoryInfo)(OrtMemoryInfo*);  // 94
  void (*ReleaseSession)(OrtSession*);        // 95
  void (*ReleaseValue)(OrtValue*);            // 96
  void (*ReleaseRunOptions)(OrtRunOptions*);  // 97
  void (*ReleaseTypeInfo)(OrtTypeInfo*);      // 98
  void (*ReleaseTensorTypeAndShapeInfo)(OrtTensorTypeAndShapeInfo*);  // 99
  void (*ReleaseSessionOptions)(OrtSessionOptions*);                  // 100
  void* ReleaseCustomOpDomain;                                        // 101 (end of API 1)
  void* unused_102_to_110[9];  // GetDenotationFromTypeInfo .. SessionEndProfiling  102-110
  St (*SessionGetModelMetadata)(const OrtSession*, OrtModelMetadata** out);  // 111
  void* ModelMetadataGetProducerName;                                        // 112
  void* ModelMetadataGetGraphName;                                           // 113
  void* ModelMetadataGetDomain;                                              // 114
  void* ModelMetadataGetDescription;                                         // 115
  St (*ModelMetadataLookupCustomMetadataMap)(const OrtModelMetadata*, OrtAllocator*, const char* key,
                                             char** out);  // 116
  void* ModelMetadataGetVersion;                           // 117
  void (*ReleaseModelMetadata)(OrtModelMetadata*);         // 118 (end of API 2)
  void* CreateEnvWithGlobalThreadPools;                    // 119
  void* DisablePerSessionThreads;                          // 120
  void* CreateThreadingOptions;                            // 121
  void* ReleaseThreadingOptions;                           // 122
  St (*ModelMetadataGetCustomMetadataMapKeys)(const OrtModelMetadata*, OrtAllocator*, char*** keys,
                                              int64_t* num_keys);  // 123 (API 3)
  // Below: only with a library new enough to have them (ORT >= 1.11, API 11); see the top.
  void* unused_124_to_129[6];  // AddFreeDimensionOverrideByName .. FillStringTensorElement  124-129
  St (*AddSessionConfigEntry)(OrtSessionOptions*, const char* key, const char* value);  // 130
  void* unused_131_to_143[13];  // CreateAllocator .. TensorAt                   131-143
  St (*CreateAndRegisterAllocator)(OrtEnv*, const OrtMemoryInfo*, const OrtArenaCfg*);  // 144
  void* unused_145_to_156[12];            // SetLanguageProjection .. CreateArenaCfg       145-156
  void (*ReleaseArenaCfg)(OrtArenaCfg*);  // 157
  void* unused_158_to_163[6];             // ModelMetadataGetGraphDescription .. KernelInfoGetAttributeArray_int64
  St (*CreateArenaCfgV2)(const char* const* keys, const size_t* values, size_t num_keys,
                         OrtArenaCfg** out);  // 164 (API 11)
  // Later slots exist in newer libraries; echoic never reads past here.
};

struct OrtApiBase {
  const OrtApi* (*GetApi)(uint32_t version);  // nullptr if the library does not offer `version`
  const char* (*GetVersionString)();
};

using OrtGetApiBaseFn = const OrtApiBase* (*)();

// Guard the slot arithmetic: a miscount here would call the wrong function.
#define ECHOIC_ORT_SLOT(name, n) static_assert(offsetof(OrtApi, name) == (n) * sizeof(void*), #name)
ECHOIC_ORT_SLOT(GetErrorCode, 1);
ECHOIC_ORT_SLOT(CreateSession, 7);
ECHOIC_ORT_SLOT(Run, 9);
ECHOIC_ORT_SLOT(EnableCpuMemArena, 18);
ECHOIC_ORT_SLOT(SetSessionGraphOptimizationLevel, 23);
ECHOIC_ORT_SLOT(SessionGetInputCount, 30);
ECHOIC_ORT_SLOT(SessionGetInputName, 36);
ECHOIC_ORT_SLOT(CreateTensorWithDataAsOrtValue, 49);
ECHOIC_ORT_SLOT(CastTypeInfoToTensorInfo, 55);
ECHOIC_ORT_SLOT(GetTensorElementType, 60);
ECHOIC_ORT_SLOT(GetTensorTypeAndShape, 65);
ECHOIC_ORT_SLOT(CreateCpuMemoryInfo, 69);
ECHOIC_ORT_SLOT(AllocatorFree, 76);
ECHOIC_ORT_SLOT(GetAllocatorWithDefaultOptions, 78);
ECHOIC_ORT_SLOT(ReleaseEnv, 92);
ECHOIC_ORT_SLOT(ReleaseSessionOptions, 100);
ECHOIC_ORT_SLOT(SessionGetModelMetadata, 111);
ECHOIC_ORT_SLOT(ModelMetadataLookupCustomMetadataMap, 116);
ECHOIC_ORT_SLOT(ReleaseModelMetadata, 118);
ECHOIC_ORT_SLOT(ModelMetadataGetCustomMetadataMapKeys, 123);
ECHOIC_ORT_SLOT(DisableMemPattern, 17);
ECHOIC_ORT_SLOT(AddSessionConfigEntry, 130);
ECHOIC_ORT_SLOT(CreateAndRegisterAllocator, 144);
ECHOIC_ORT_SLOT(ReleaseArenaCfg, 157);
ECHOIC_ORT_SLOT(CreateArenaCfgV2, 164);
#undef ECHOIC_ORT_SLOT

}  // namespace echoic::ort::c

#endif  // ECHOIC_ORT_ORT_API_H_
